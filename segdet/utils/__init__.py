"""General utilities."""
from .config_utils import revert_sync_bn_cfg, unknown_cfg_option_keys, warn_unknown_cfg_options

__all__ = ['revert_sync_bn_cfg', 'unknown_cfg_option_keys', 'warn_unknown_cfg_options']
