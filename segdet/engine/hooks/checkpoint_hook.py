"""``CheckpointHook`` whose writes are atomic and which never deletes before it has saved.

mmengine's hook removes the oldest checkpoint (``max_keep_ckpts``) *before* writing the new
one and writes ``last_checkpoint`` with a plain ``open(..., 'w')``. A crash in between can
leave fewer checkpoints than promised or an empty pointer. This hook writes the new
checkpoint first (atomically, through :class:`segdet.engine.atomic_io.AtomicLocalBackend`),
then the pointer (atomically), and only then removes the oldest checkpoint. It is registered
under mmengine's name, so configs keep ``dict(type='CheckpointHook', ...)``.
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from segdet.engine.atomic_io import atomic_write_text
from segdet.registry import HOOKS


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) with crash-safe saving and rotation."""

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        expired = self._rotate_ids(runner, step)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        for old_step in expired:
            self._remove_checkpoint(old_step)

    def _rotate_ids(self, runner, step: int) -> list[int]:
        """Record ``step`` among the kept checkpoints; return the steps that fall out."""
        if self.max_keep_ckpts <= 0:
            return []
        # _save_checkpoint and _save_best_checkpoint may both save the same step.
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return []
        expired = []
        # ``keep_ckpt_ids`` is a deque with maxlen ``max_keep_ckpts``: pop before appending.
        while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
            expired.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return expired

    def _remove_checkpoint(self, step: int) -> None:
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # checkpoints saved by DeepSpeed are directories
            self.file_backend.rmtree(path)
