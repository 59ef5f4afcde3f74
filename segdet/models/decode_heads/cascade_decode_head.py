"""BaseCascadeDecodeHead: a head that also reads the previous head's logits (OCRNet)."""
from abc import ABCMeta, abstractmethod
from typing import Optional, Sequence

from torch import Tensor

from segdet.structures import SampleList

from .decode_head import BaseDecodeHead


class BaseCascadeDecodeHead(BaseDecodeHead, metaclass=ABCMeta):
    """Decode head of a ``CascadeEncoderDecoder`` stage after the first.

    Same arguments as :class:`BaseDecodeHead`; ``forward``, ``loss`` and ``predict`` take the
    previous stage's logits ``prev_output`` (N, C_prev, h, w) after the features.
    """

    @abstractmethod
    def forward(self, inputs: Sequence[Tensor],  # type: ignore[override]
                prev_output: Tensor) -> Tensor:
        """Args: features, previous logits. Returns: (N, out_channels, h, w) logits."""

    def forward_tensor(self, inputs: Sequence[Tensor], prev_output: Tensor,
                       test_cfg: Optional[dict] = None) -> Tensor:
        """The logits this stage gives in the segmentor's tensor mode (``_forward``).

        ``forward(inputs, prev_output)`` here; a head whose ``forward`` works on something
        else (PointRend's point head classifies sampled points) overrides it.
        """
        return self.forward(inputs, prev_output)

    def loss(self, inputs: Sequence[Tensor], prev_output: Tensor,  # type: ignore[override]
             batch_data_samples: SampleList,
             train_cfg: Optional[dict] = None) -> dict[str, Tensor]:
        """``forward(inputs, prev_output)`` then ``loss_by_feat``; see BaseDecodeHead.loss."""
        return self.loss_by_feat(self.forward(inputs, prev_output), batch_data_samples)

    def predict(self, inputs: Sequence[Tensor], prev_output: Tensor,  # type: ignore[override]
                batch_img_metas: list[dict], test_cfg: Optional[dict] = None) -> Tensor:
        """``forward(inputs, prev_output)`` then ``predict_by_feat``: (N, C, H, W) logits."""
        return self.predict_by_feat(self.forward(inputs, prev_output), batch_img_metas)
