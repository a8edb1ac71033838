"""Deep4Net (Schirrmeister et al., 2017) from braindecode, trained with the shared EEG recipe."""

import torch
from pydantic import Field

from tasks.eeg.classifier import EEGClassifier, RecipeParams


class Deep4Params(RecipeParams):
    drop_prob: float = Field(0.5, ge=0, lt=1, description="dropout between the conv-pool blocks")


class Deep4(EEGClassifier):
    """Four conv-pool blocks (25-50-100-200 filters): the deep ConvNet of the TUAB baselines."""

    name = "deep4"
    paper = "https://arxiv.org/abs/1703.05051"
    description = "braindecode's Deep4Net (four conv-max-pool blocks)"
    Params = Deep4Params

    def build(self, n_chans: int, n_times: int) -> torch.nn.Module:
        from braindecode.models import Deep4Net

        if not self.params.cropped:
            return Deep4Net(n_chans=n_chans, n_outputs=2, n_times=n_times, final_conv_length="auto",
                            drop_prob=self.params.drop_prob, add_log_softmax=False)
        # the paper's network (APD_EEG s2): 25-50-100-200 filters, final_conv_length 1, stride before pool, dense
        module = Deep4Net(n_chans=n_chans, n_outputs=2, n_times=n_times, final_conv_length=1, stride_before_pool=True,
                          drop_prob=self.params.drop_prob, add_log_softmax=False)
        module.to_dense_prediction_model()
        return module
