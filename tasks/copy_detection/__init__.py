"""Image copy detection (AnyPattern / ImageStacker): tampered queries, unseen patterns, in-context prompts."""
