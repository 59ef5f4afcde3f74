"""General utilities."""
from .cpu_allocator import keep_freed_memory
from .config_utils import (load_config, revert_sync_bn_cfg, unknown_cfg_option_keys,
                           warn_unknown_cfg_options)
from .registry_hints import (UnknownTypeError, find_type_paths, registry_hints,
                             unknown_type_message)
from .tool_process import (configure_runtime, enable_amp, init_cpu_distributed,
                           prepare_tool_process, resolve_channels_last)

__all__ = ['keep_freed_memory', 'load_config', 'prepare_tool_process', 'configure_runtime',
           'enable_amp', 'init_cpu_distributed', 'resolve_channels_last', 'revert_sync_bn_cfg',
           'unknown_cfg_option_keys', 'warn_unknown_cfg_options', 'UnknownTypeError',
           'find_type_paths', 'registry_hints', 'unknown_type_message']
