"""Built-in methods, one file each. Entries are imported only when a method is used."""

from harness.registry import Entry

BUILTINS = [
    Entry("full", "baselines.full:FullCache", "long_context", "no eviction (the accuracy ceiling)"),
    Entry("streamingllm", "baselines.streamingllm:StreamingLLM", "long_context", "attention sinks + recent window, re-rotated to contiguous positions"),
    Entry("lacache", "baselines.lacache:LaCachePolicy", "long_context", "ladder-shaped per-layer KV cache with iterative compaction (LaCache)"),
    Entry("snapkv", "baselines.snapkv:SnapKV", "long_context", "keep the keys the observation window attends to most (SnapKV)"),
    Entry("naive", "baselines.naive:Naive", "timeseries", "repeat the last value"),
    Entry("seasonal_naive", "baselines.seasonal_naive:SeasonalNaive", "timeseries", "repeat the last period (found by autocorrelation)"),
    Entry("nlinear", "baselines.nlinear:NLinear", "timeseries", "one linear layer on the window relative to its last value"),
    Entry("dlinear", "baselines.dlinear:DLinear", "timeseries", "moving-average trend + remainder, one linear layer each"),
    Entry("mlp", "baselines.mlp:MLPForecaster", "timeseries", "two-hidden-layer MLP on the window"),
    Entry("patchtst", "baselines.patchtst:PatchTST", "timeseries", "small PatchTST: patches as tokens of a transformer encoder"),
    Entry("reasoning_score", "baselines.reasoning_score:ReasoningScore", "hallucination", "late-layer logit-lens JSD (reasoning depth), averaged over steps"),
    Entry("rhd", "baselines.rhd:RHD", "hallucination", "Reasoning Hallucination Detection: four mechanistic features, weights fitted"),
    Entry("perplexity", "baselines.perplexity:Perplexity", "hallucination", "log-perplexity of the trace"),
    Entry("entropy", "baselines.entropy:TokenEntropy", "hallucination", "mean next-token entropy over the trace"),
    Entry("max_nll", "baselines.max_nll:MaxNLL", "hallucination", "largest token negative log-likelihood in the trace"),
    Entry("p_true", "baselines.p_true:PTrue", "hallucination", "the model's own P(the reasoning is wrong) from a yes/no prompt"),
    Entry("shallownet", "baselines.shallownet:ShallowNet", "eeg", "braindecode's ShallowFBCSPNet with the shared EEG recipe"),
    Entry("deep4", "baselines.deep4:Deep4", "eeg", "braindecode's Deep4Net with the shared EEG recipe"),
    Entry("eegnet", "baselines.eegnet:EEGNet", "eeg", "braindecode's EEGNetv4 with the shared EEG recipe"),
    Entry("tcn", "baselines.tcn:TCN", "eeg", "braindecode's TCN (outputs averaged over time) with the shared EEG recipe"),
    Entry("phash", "baselines.phash:PHash", "copy_detection", "perceptual hash (DCT signs), Hamming distance"),
    Entry("color_histogram", "baselines.color_histogram:ColorHistogram", "copy_detection", "joint RGB colour histogram, Hellinger-normalised"),
    Entry("tiny_image", "baselines.tiny_image:TinyImage", "copy_detection", "raw 16 x 16 thumbnail, centred and normalised"),
    Entry("contrastive_cnn", "baselines.contrastive_cnn:ContrastiveCNN", "copy_detection", "small CNN + GeM trained with InfoNCE on base-pattern copies"),
    Entry("imagestacker", "baselines.imagestacker:ImageStacker", "copy_detection", "query stacked with a prompt pair chosen by a pattern head (AnyPattern)"),
    Entry("identity", "baselines.identity_eraser:IdentityEraser", "text_removal", "returns the input unchanged (the floor)"),
    Entry("telea", "baselines.telea:Telea", "text_removal", "OpenCV Telea inpainting inside the box mask"),
    Entry("navier_stokes", "baselines.navier_stokes:NavierStokes", "text_removal", "OpenCV Navier-Stokes inpainting inside the box mask"),
]
