"""Built-in tasks, one package per family. Entries are imported only when a task is used."""

from harness.contracts.registry import Entry

BUILTINS = [
    Entry("passkey", "tasks.long_context.passkey:Passkey", "long_context", "5-digit pass key hidden at depth x length in real text"),
    Entry("niah_multikey", "tasks.long_context.niah:NiahMultikey", "long_context", "RULER-style: several key-value needles, retrieve the asked one"),
    Entry("lm_eval", "tasks.long_context.via_lm_eval.task:LmEvalTask", "long_context", "any lm-evaluation-harness task under a KV-cache policy (--task lm_eval --task-arg tasks=...)"),
    Entry("long_ppl", "tasks.long_context.long_ppl:LongPerplexity", "long_context", "perplexity streaming real text token by token under a bounded cache"),
    Entry("reasoning_hallucination", "tasks.hallucination.task:ReasoningHallucination", "hallucination", "detect corrupted reasoning traces from the model's internals (RHD)"),
    Entry("reasoning_hallucination_self", "tasks.hallucination.self_task:SelfReasoningHallucination", "hallucination", "detect the model's own wrong step-by-step answers from its internals, against surface floors"),
    Entry("eeg_transfer", "tasks.eeg.task:EEGTransfer", "eeg", "abnormal-EEG detection at a target site: source-only, scratch, pretrained + fine-tuned"),
    Entry("copy_detection", "tasks.copy_detection.task:CopyDetection", "copy_detection", "AnyPattern: find the reference of a tampered query, unseen patterns, in-context prompts"),
    Entry("text_removal", "tasks.text_removal.task:TextRemoval", "text_removal", "DeepEraser: erase rendered words, word boxes given or no mask"),
    Entry("depth", "tasks.depth.task:Depth", "depth", "PrimeDepth protocol: ray-cast scenes with exact depth, scale-and-shift aligned AbsRel / delta1"),
    Entry("depth_planes", "tasks.depth.planes:DepthPlanes", "depth", "slanted checkered planes with closed-form depth: perspective as the only cue"),
    Entry("syntsbench", "tasks.timeseries.task:SynTSBench", "timeseries", "SynTSBench: which temporal patterns a forecaster learns, against the optimum"),
    Entry("syntsbench_complex", "tasks.timeseries.complex_task:SynTSBenchComplex", "timeseries", "SynTSBench's ten complex univariate series (stock price ... temperature sensor)"),
    Entry("syntsbench_multivariate", "tasks.timeseries.multivariate_task:SynTSBenchMultivariate", "timeseries", "SynTSBench's multivariate sets: lagged relations, ODE systems, causal sets; all channels in and out"),
]
