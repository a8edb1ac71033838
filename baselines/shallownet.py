"""ShallowFBCSPNet (Schirrmeister et al., 2017) from braindecode, trained with the shared EEG recipe."""

import torch
from pydantic import Field

from tasks.eeg.classifier import EEGClassifier, RecipeParams


class ShallowNetParams(RecipeParams):
    drop_prob: float = Field(0.5, ge=0, lt=1, description="dropout before the classifier")


class ShallowNet(EEGClassifier):
    """Temporal then spatial convolution, squaring, mean pooling and log: a learned filter-bank CSP."""

    name = "shallownet"
    paper = "https://arxiv.org/abs/1703.05051"
    description = "braindecode's ShallowFBCSPNet (filter-bank CSP as a network)"
    Params = ShallowNetParams

    def build(self, n_chans: int, n_times: int) -> torch.nn.Module:
        from braindecode.models import ShallowFBCSPNet

        if not self.params.cropped:
            return ShallowFBCSPNet(n_chans=n_chans, n_outputs=2, n_times=n_times, final_conv_length="auto",
                                   drop_prob=self.params.drop_prob, add_log_softmax=False)
        # braindecode's cropped-decoding setting for this network: a final conv over 30 pooled steps, made dense
        module = ShallowFBCSPNet(n_chans=n_chans, n_outputs=2, n_times=n_times, final_conv_length=30,
                                 drop_prob=self.params.drop_prob, add_log_softmax=False)
        module.to_dense_prediction_model()
        return module
