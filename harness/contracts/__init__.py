"""What a task, a method and a result record are, and what they run on: the layer a task or method author imports."""
