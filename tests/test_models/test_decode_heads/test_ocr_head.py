"""SpatialGatherModule, SelfAttentionBlock / ObjectAttentionBlock and OCRHead (cascade)."""
import math

import pytest
import torch
from segmentation_fixtures import (assert_uniform_loss, make_feats, make_labels,
                                   make_samples, zero_classifier)

from segdet.models.decode_heads import ObjectAttentionBlock, SpatialGatherModule
from segdet.models.decode_heads.ocr_head import spatial_gather
from segdet.models.utils.self_attention_block import attention_context
from segdet.registry import MODELS


def test_spatial_gather_equals_einsum():
    feats, probs = make_feats([(2, 3, 2, 3), (2, 4, 2, 3)])
    w = torch.softmax(2.0 * probs.reshape(2, 4, 6), dim=2)
    ref = torch.einsum('nkp,ncp->nck', w, feats.reshape(2, 3, 6))[..., None]
    torch.testing.assert_close(spatial_gather(feats, probs, 2.0), ref)
    torch.testing.assert_close(SpatialGatherModule(2.0)(feats, probs), ref)


def test_spatial_gather_one_hot_probs_pick_pixels():
    feats = torch.arange(6.0).reshape(1, 1, 2, 3)
    probs = torch.full((1, 2, 2, 3), -1e4)
    probs[0, 0, 0, 1] = 0   # class 0 -> pixel (0, 1) = 1
    probs[0, 1, 1, 2] = 0   # class 1 -> pixel (1, 2) = 5
    torch.testing.assert_close(spatial_gather(feats, probs), torch.tensor([[[[1.], [5.]]]]))


def test_attention_context_equals_softmax_matmul():
    q, k, v = make_feats([(2, 5, 3), (2, 4, 3), (2, 4, 6)])
    ref = torch.softmax(0.3 * q @ k.transpose(1, 2), dim=-1) @ v
    torch.testing.assert_close(attention_context(q, k, v, 0.3), ref)


def test_object_attention_block_shapes():
    block = ObjectAttentionBlock(8, 4, 1, conv_cfg=None, norm_cfg=None, act_cfg=None)
    assert len(block.key_project) == 2 and block.out_project.conv.out_channels == 8
    pixels, centres = make_feats([(2, 8, 5, 6), (2, 8, 3, 1)])
    assert block(pixels, centres).shape == (2, 8, 5, 6)
    # scale 2: queries max-pooled, context upsampled back to the pixels
    block2 = ObjectAttentionBlock(8, 4, 2, conv_cfg=None, norm_cfg=None, act_cfg=None)
    assert block2(pixels, centres).shape == (2, 8, 5, 6)


def _ocr(**kwargs):
    cfg = dict(type='OCRHead', in_channels=[4, 6], in_index=(0, 1),
               input_transform='resize_concat', channels=8, ocr_channels=4, num_classes=5,
               dropout_ratio=-1, norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_cascade_forward_loss_predict():
    head = _ocr()
    feats = make_feats([(2, 4, 8, 8), (2, 6, 4, 4)])
    prev = torch.randn(2, 5, 8, 8)
    assert head(feats, prev).shape == (2, 5, 8, 8)
    # previous logits of another size are resized to the features
    assert head(feats, torch.randn(2, 5, 4, 4)).shape == (2, 5, 8, 8)
    out = head.predict(feats, prev, [dict(img_shape=(16, 16), pad_shape=(32, 32))], {})
    assert out.shape == (2, 5, 32, 32)
    zero_classifier(head)
    losses = head.loss(feats, prev, make_samples(make_labels(2, 16, 16, 5)), {})
    assert_uniform_loss(losses, 5)


def test_cascade_ignore_index_and_eval_determinism():
    head = _ocr().eval()
    feats = make_feats([(2, 4, 8, 8), (2, 6, 4, 4)])
    prev = torch.randn(2, 5, 8, 8)
    torch.testing.assert_close(head(feats, prev), head(feats, prev))
    zero_classifier(head)
    labels = make_labels(2, 8, 8, 5, ignore_frac=0.5)
    valid = (labels != 255).float().mean().item()
    losses = head.loss(feats, prev, make_samples(labels), {})
    assert losses['loss_ce'].item() == pytest.approx(math.log(5) * valid, rel=1e-6)


def test_ocr_needs_a_single_input_map():
    with pytest.raises(ValueError, match='input_transform'):
        _ocr(input_transform='multiple_select')
