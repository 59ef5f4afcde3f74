"""General utilities."""
from .autocast_state import autocast_state
from .config_utils import (as_config_dict, check_work_dir, load_config, revert_sync_bn_cfg,
                           unknown_cfg_option_keys, warn_unknown_cfg_options)
from .cpu_allocator import keep_freed_memory
from .registry_hints import (UnknownTypeError, find_type_paths, registry_hints,
                             unknown_type_message)
from .tta_config import MissingTTAConfigError, apply_tta, set_img_ratios

__all__ = ['autocast_state', 'as_config_dict', 'keep_freed_memory', 'check_work_dir', 'load_config',
           'revert_sync_bn_cfg', 'unknown_cfg_option_keys', 'warn_unknown_cfg_options',
           'UnknownTypeError', 'find_type_paths', 'registry_hints', 'unknown_type_message',
           'MissingTTAConfigError', 'apply_tta', 'set_img_ratios']
