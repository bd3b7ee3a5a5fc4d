"""benchmarks/reproduce_paper.py (mmseg_dibe.analysis.reproduce): the whole
chain (probe, plan, trainings, report, Table 5, metafile) end to end with
--quick on a tiny CrackForest-layout dataset written here, the rerun that
skips the finished training, and the budget scaling of the plan."""
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from mmengine.config import Config
from PIL import Image

from mmseg_dibe.analysis import reproduce
from utils import REPO, load_script, run_tool


def write_tiny_cfd(root, size=32):
    """4 train / 2 val 32x32 PNG images with 0/1 masks (a dark bar)."""
    rng = np.random.default_rng(0)
    for split, num in (('train', 4), ('val', 2)):
        (root / 'img_dir' / split).mkdir(parents=True)
        (root / 'ann_dir' / split).mkdir(parents=True)
        for i in range(num):
            img = rng.integers(120, 255, (size, size, 3), dtype=np.uint8)
            mask = np.zeros((size, size), np.uint8)
            mask[8 + i:12 + i, 4:28] = 1
            img[mask == 1] = 30
            Image.fromarray(img).save(root / 'img_dir' / split / f'{i}.png')
            Image.fromarray(mask).save(root / 'ann_dir' / split / f'{i}.png')


def load_driver():
    return load_script('benchmarks/reproduce_paper.py')


@pytest.mark.slow
def test_quick_end_to_end_and_rerun(tmp_path):
    data = tmp_path / 'data'
    write_tiny_cfd(data / 'cfd')
    out = tmp_path / 'out'
    argv = ['--device', 'cpu', '--quick', '--data-root', data, '--out', out,
            '--datasets', 'cfd', 'blowhole', '--losses', 'bce']
    proc = run_tool('benchmarks/reproduce_paper.py', *argv)
    text = proc.stdout
    # The plan: skipped dataset with its converter, the probe's timing, the
    # training with its iterations, the expected total.
    assert 'skipped Blowhole: no converted data' in text
    assert 'tools/dataset_converters/mtsdd.py' in text
    assert 'github.com/abin24/Magnetic-tile-defect-datasets.' in text
    match = re.search(r'probe CFD: ([\d.]+) s/iter', text)
    assert match and float(match.group(1)) > 0, text
    assert 'schedule: 1 epochs, validation every 1 (--quick' in text
    # A 2-iteration training is no longer than the probe: it is the probe.
    assert 'is no longer than the probe: training it, timed' in text
    assert re.search(r'\| 1 \| unet-s5-d16_bce_50e_cfd-160x160 \| CFD \| 2 '
                     r'\| 2 \| 2 \| \d+ \| done \(the probe\) \|', text), text
    assert re.search(r'expected total: [\d.]+ min', text)
    assert '[1/1] unet-s5-d16_bce_50e_cfd-160x160: trained as the probe' \
        in text
    # The derived stock-BCE config and its work dir.
    cfg = Config.fromfile(str(out / 'configs' /
                              'unet-s5-d16_bce_50e_cfd-160x160.py'))
    assert cfg.model.decode_head.loss_decode == dict(
        type='CrossEntropyLoss', use_sigmoid=True)
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
    work = out / 'work_dirs' / 'unet-s5-d16_bce_50e_cfd-160x160'
    assert (work / 'epoch_1.pth').is_file()
    # Report, Table 5 and metafile entries.
    report = (out / 'report.md').read_text()
    assert '### CFD: last validation' in report
    assert '| UNet | UNet-S5-D16 | BCE (mmseg) | 32x32 | 1e, bs 2 |' in report
    table5 = (out / 'table5.md').read_text()
    assert re.search(r'\| CFD \| IoU \| [\d.]+ \|', table5), table5
    meta = yaml.safe_load((out / 'metafile.yaml').read_text())
    (model, ) = meta['Models']
    assert model['Name'] == 'unet-s5-d16_bce_50e_cfd-160x160'
    assert model['Metadata']['Training Resources'] == 'CPU'
    assert 'inference time (fps)' in model['Metadata']
    assert set(model['Results']['Metrics']) >= {'IoU', 'PA', 'OII'}
    assert model['Config'].endswith('configs/'
                                    'unet-s5-d16_bce_50e_cfd-160x160.py')
    # Rerun in-process: the probe is cached, the training detected as done.
    lines = []
    args = load_driver().parse_args([str(a) for a in argv])
    result = reproduce.run(args, echo=lines.append)
    assert result['jobs'][0]['skipped']
    assert any('| done |' in line for line in lines), lines
    assert not any(line.startswith('probe:') for line in lines)
    assert any(line.startswith('[1/1] unet-s5-d16_bce_50e_cfd-160x160: done '
                               'before') for line in lines), lines
    # Another schedule into the same work dirs is refused.
    args = load_driver().parse_args([str(a) for a in argv] +
                                    ['--batch-size', '1'])
    with pytest.raises(reproduce.ReproduceError, match='other settings'):
        reproduce.run(args, echo=lines.append)


def test_budget_scales_epochs_and_plan_marks_resume(tmp_path):
    job = dict(dataset='cfd', loss='dibe', name='x', iters_per_epoch=10,
               val_images=5, batch_size=16, full_epochs=50, full_interval=5,
               work_dir=str(tmp_path / 'w'))
    timing = dict(s_per_iter=0.1, s_per_val_image=0.1, overhead_s=10.0,
                  timed_iters=8)
    args = SimpleNamespace(quick=False, budget_minutes=None, device='cuda',
                           amp=True, out=str(tmp_path))
    assert reproduce.choose_schedule(args, [job], {'cfd': timing})[:2] == \
        (50, 5)
    # 50 epochs: 10 + 500 * 0.1 + 10 * 5 * 0.1 = 65 s; 30 s fits 16 epochs.
    assert reproduce.estimate(job, timing, 50, 5) == pytest.approx(65)
    args.budget_minutes = 0.5
    epochs, interval, note = reproduce.choose_schedule(args, [job],
                                                       {'cfd': timing})
    assert reproduce.estimate(job, timing, epochs, interval) <= 30
    assert reproduce.estimate(job, timing, epochs + 1, interval) > 30 or \
        reproduce.scaled_schedule(epochs + 1) != interval
    assert 'train_cfg.max_epochs 50 -> ' in note and 'param_scheduler' in note
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / 'last_checkpoint').write_text('epoch_5.pth')
    plan, total = reproduce.format_plan(args, [job], [], {'cfd': timing},
                                        epochs, interval, note)
    assert '| resume |' in plan and total > 0
    opts = reproduce.schedule_options(epochs, interval)
    assert opts['param_scheduler.0.end'] == epochs
    assert json.dumps(reproduce.options_list(opts))
