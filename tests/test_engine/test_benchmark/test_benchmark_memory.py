"""segdet.engine.benchmark.memory: current and peak memory of the process."""
import json
import subprocess
import sys

from segdet.engine.benchmark import cpu_rss_mb, peak_memory_mb

# In a fresh process: no earlier test has left freed memory in the heap for reuse.
SCRIPT = '''
import json, torch
from segdet.engine.benchmark import cpu_rss_mb, peak_memory_mb
before = cpu_rss_mb()
block = torch.ones(64 * 2**20 // 4)  # 64 MiB of float32, every page written
during = cpu_rss_mb()
del block
print(json.dumps(dict(before=before, during=during, peak=peak_memory_mb('cpu'))))
'''


def test_rss_follows_an_allocation_and_stays_below_the_peak() -> None:
    done = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                          timeout=120, check=True)
    mb = json.loads(done.stdout.strip().splitlines()[-1])
    assert mb['during'] - mb['before'] > 48  # most of the 64 MiB is resident
    assert mb['during'] <= mb['peak'] + 1
    assert 0 < cpu_rss_mb() <= peak_memory_mb('cpu') + 1
