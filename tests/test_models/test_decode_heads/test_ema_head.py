"""EMAHead (EMANet): the EM step, base normalisation, reconstruction and momentum update against
hand-computed values and plain loops; the update averaged over processes (patched
``torch.distributed`` and a real 2-process gloo group); mmseg's names, a loss-falls run and bad
input."""
import datetime
import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import EMAHead, EMAModule
from segdet.models.decode_heads.ema_head import (em_iterations, em_step, momentum_update,
                                                 reconstruct)
from segdet.models.utils import dist_utils

BN = dict(type='BN')


def make_head(**kwargs) -> EMAHead:
    cfg = dict(in_channels=8, channels=4, ema_channels=6, num_bases=3, num_stages=2,
               num_classes=3, norm_cfg=BN, dropout_ratio=0)
    return EMAHead(**{**cfg, **kwargs})


def em_by_loops(x, mu, num_stages):
    """EM on one image with plain loops: x[c][n] (C x L), mu[c][k] (C x K) as lists."""
    c_dim, length, k_dim = len(x), len(x[0]), len(mu[0])
    for _ in range(num_stages):
        z = []
        for n in range(length):
            logits = [sum(x[c][n] * mu[c][k] for c in range(c_dim)) for k in range(k_dim)]
            e = [math.exp(v - max(logits)) for v in logits]
            z.append([v / sum(e) for v in e])                         # E-step: softmax over k
        mu = [[sum(x[c][n] * z[n][k] for n in range(length)) /
               sum(z[n][k] for n in range(length)) for k in range(k_dim)]
              for c in range(c_dim)]                                 # M-step: weighted mean
        norms = [math.sqrt(sum(mu[c][k] ** 2 for c in range(c_dim))) for k in range(k_dim)]
        mu = [[mu[c][k] / norms[k] for k in range(k_dim)] for c in range(c_dim)]
    recon = [[sum(mu[c][k] * z[n][k] for k in range(k_dim)) for n in range(length)]
             for c in range(c_dim)]
    return mu, z, recon


def test_em_step_hand_computed():
    # points (1, 0), (1, 0), (0, 1), (0, 1), bases e1, e2: z = (s, 1 - s) or (1 - s, s) with
    # s = sigmoid(1); each base's weights sum to 2, so mu_1 = (s, 1 - s) / |(s, 1 - s)|
    feats = torch.tensor([[1., 1., 0., 0.], [0., 0., 1., 1.]])[None]
    bases = torch.eye(2)[None]
    s = 1 / (1 + math.exp(-1))
    norm = math.hypot(s, 1 - s)
    new_bases, attention = em_step(feats, bases)
    torch.testing.assert_close(attention[0], torch.tensor([[s, 1 - s]] * 2 + [[1 - s, s]] * 2))
    torch.testing.assert_close(new_bases[0],
                               torch.tensor([[s, 1 - s], [1 - s, s]]) / norm)
    # reconstruction: x~_n = sum_k z[n, k] mu_k
    torch.testing.assert_close(reconstruct(new_bases, attention)[0, :, 0],
                               (s * torch.tensor([s, 1 - s]) + (1 - s) * torch.tensor([1 - s, s]))
                               / norm)


def test_em_iterations_equal_the_loops():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 3, 5, generator=g, dtype=torch.float64)
    bases = F.normalize(torch.randn(2, 3, 4, generator=g, dtype=torch.float64), dim=1)
    new_bases, attention = em_iterations(feats, bases, num_stages=3)
    recon = reconstruct(new_bases, attention)
    for b in range(2):
        mu, z, rec = em_by_loops(feats[b].tolist(), bases[b].tolist(), 3)
        torch.testing.assert_close(new_bases[b], torch.tensor(mu, dtype=torch.float64))
        torch.testing.assert_close(attention[b], torch.tensor(z, dtype=torch.float64))
        torch.testing.assert_close(recon[b], torch.tensor(rec, dtype=torch.float64))
    # base normalisation: every base has unit L2 norm
    torch.testing.assert_close(new_bases.norm(dim=1), torch.ones(2, 4, dtype=torch.float64))


def test_module_bases_train_and_eval():
    torch.manual_seed(0)
    module = EMAModule(channels=3, num_bases=4, num_stages=2, momentum=0.25)
    assert module.bases.shape == (1, 3, 4) and dict(module.named_buffers()).keys() == {'bases'}
    torch.testing.assert_close(module.bases.norm(dim=1), torch.ones(1, 4))
    feats = torch.randn(2, 3, 2, 3)
    start = module.bases.clone()
    module.eval()
    out = module(feats)
    torch.testing.assert_close(module.bases, start)  # eval: the running bases stay
    fitted = [em_by_loops(feats[b].flatten(1).tolist(), start[0].tolist(), 2) for b in range(2)]
    torch.testing.assert_close(out, torch.stack([torch.tensor(f[2]) for f in fitted]).view(
        2, 3, 2, 3))
    module.train()
    torch.testing.assert_close(module(feats), out)
    # train: running = 0.75 * running + 0.25 * normalize(mean over the batch of fitted bases)
    mean = (torch.tensor(fitted[0][0]) + torch.tensor(fitted[1][0])) / 2
    expected = 0.75 * start + 0.25 * (mean / mean.norm(dim=0, keepdim=True))
    torch.testing.assert_close(module.bases, expected)


def test_momentum_update_averages_over_processes(monkeypatch):
    # a patched 2-process group whose other rank fitted `other`: all_reduce adds other / 2
    other = torch.tensor([[[0.], [2.]]])
    reduced = []

    def fake_all_reduce(tensor, op=None):
        assert op == dist.ReduceOp.SUM
        tensor.add_(other / 2)
        reduced.append(tensor.clone())

    monkeypatch.setattr(dist_utils.dist, 'is_initialized', lambda: True)
    monkeypatch.setattr(dist_utils.dist, 'get_world_size', lambda: 2)
    monkeypatch.setattr(dist_utils.dist, 'all_reduce', fake_all_reduce)
    running = torch.tensor([[[1.], [0.]]])
    bases = torch.tensor([[[2.], [0.]], [[0.], [0.]]])           # batch mean (1, 0)
    new = momentum_update(running, bases, momentum=0.5)
    torch.testing.assert_close(reduced[0], torch.tensor([[[0.5], [1.]]]))  # (1, 0) and (0, 2)
    torch.testing.assert_close(new, 0.5 * running + 0.5 * torch.tensor([[[1.], [2.]]]) /
                               math.sqrt(5))


def _gloo_worker(rank: int, init_file: str, feats: torch.Tensor, start: torch.Tensor,
                 expected: torch.Tensor) -> None:
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=2, timeout=datetime.timedelta(seconds=60))
    try:
        module = EMAModule(channels=3, num_bases=2, num_stages=2, momentum=0.5)
        module.bases.copy_(start)
        module(feats[rank:rank + 1])          # each rank sees its own image
        torch.testing.assert_close(module.bases, expected)
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif('fork' not in mp.get_all_start_methods(), reason='needs fork')
def test_momentum_update_in_a_gloo_group_of_two(tmp_path):
    torch.manual_seed(0)
    feats = torch.randn(2, 3, 2, 2)
    start = F.normalize(torch.randn(1, 3, 2), dim=1)
    # one process with both images computes what the two ranks must agree on
    single = EMAModule(channels=3, num_bases=2, num_stages=2, momentum=0.5)
    single.bases.copy_(start)
    single(feats)
    # fork: the children inherit the imported modules (spawning re-imports them, ~10 s)
    mp.start_processes(_gloo_worker, nprocs=2, start_method='fork',
                       args=(str(tmp_path / 'pg'), feats, start, single.bases.clone()))


def test_head_names_and_frozen_mid_conv():
    head = make_head()
    names = {n.rsplit('.', 1)[0] for n in head.state_dict()}
    assert {'ema_module', 'ema_in_conv.conv', 'ema_in_conv.bn', 'ema_mid_conv.conv',
            'ema_out_conv.conv', 'ema_out_conv.bn', 'bottleneck.conv', 'bottleneck.bn',
            'conv_cat.conv', 'conv_cat.bn', 'conv_seg'} == names
    assert not any(p.requires_grad for p in head.ema_mid_conv.parameters())
    assert head.ema_module.bases.shape == (1, 6, 3)
    assert not hasattr(make_head(concat_input=False), 'conv_cat')


def test_forward_wiring():
    torch.manual_seed(0)
    head = make_head().eval()
    x = make_feats([(2, 8, 3, 4)])[0]
    with torch.no_grad():
        identity = head.ema_in_conv(x)
        recon = F.relu(head.ema_module(head.ema_mid_conv(identity)))
        feats = head.bottleneck(F.relu(identity + head.ema_out_conv(recon)))
        feats = head.conv_cat(torch.cat([x, feats], dim=1))
        torch.testing.assert_close(head([x]), head.conv_seg(feats))


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16, ema_channels=8))


def test_bad_input():
    with pytest.raises(ValueError, match='EMAHead: num_stages must be >= 1, got 0'):
        make_head(num_stages=0)
    with pytest.raises(ValueError, match='EMAHead: num_bases must be >= 1, got 0'):
        make_head(num_bases=0)
    with pytest.raises(TypeError, match='EMAHead: ema_channels must be an int'):
        make_head(ema_channels=6.0)
    with pytest.raises(ValueError, match=r'EMAHead: momentum must be a number in \[0, 1\], '
                                         'got 1.5'):
        make_head(momentum=1.5)
    with pytest.raises(ValueError, match='EMAModule: num_stages must be >= 1, got 0'):
        EMAModule(4, 2, 0, 0.1)
    with pytest.raises(ValueError, match=r'EMAHead: in_channels=\[8\] .* \[5\] channels'):
        make_head()(make_feats([(1, 5, 4, 4)]))
