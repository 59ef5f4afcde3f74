"""tools/dataset_converters/cityscapes.py on tiny trees in the released Cityscapes formats."""
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segdet.datasets import CityscapesDataset
from tool_run_helpers import load_tool, run_tool

TOOL = 'dataset_converters/cityscapes.py'


@pytest.fixture(scope='module')
def cs() -> types.ModuleType:
    return load_tool(TOOL)


def rect(x0: int, y0: int, x1: int, y1: int) -> list[list[int]]:
    """A polygon of the rectangle whose corners are (x0, y0) and (x1, y1), as Cityscapes writes."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def write_polygons(path: Path, objects: list[dict], width: int = 20, height: int = 12) -> Path:
    """A ``*_gtFine_polygons.json`` with the released keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(imgHeight=height, imgWidth=width, objects=objects)))
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)
    return path


#: Road over most of a 20x12 image, then a 'cargroup' over part of it: the car is drawn on top.
TWO_POLYGONS = [dict(label='road', polygon=rect(0, 4, 15, 11), deleted=0),
                dict(label='cargroup', polygon=rect(10, 2, 18, 7), deleted=0)]


def expected_two_polygons() -> np.ndarray:
    """The train ids of TWO_POLYGONS: Pillow fills a rectangle's pixels, corners included."""
    expected = np.full((12, 20), 255, np.uint8)
    expected[4:12, 0:16] = 0  # road
    expected[2:8, 10:19] = 13  # car (cargroup -> car), drawn after the road
    return expected


def make_tree(root: Path) -> None:
    """Two train frames (two cities), one val frame, one test frame: every kind of source."""
    gt = root / 'gtFine'
    write_polygons(gt / 'train/aachen/aachen_000000_000019_gtFine_polygons.json', TWO_POLYGONS)
    # A frame with both files: the polygons win (as in mmseg), the labelIds PNG is not read.
    write_png(gt / 'train/aachen/aachen_000000_000019_gtFine_labelIds.png', np.full((12, 20), 40))
    write_polygons(gt / 'train/bochum/bochum_000000_000313_gtFine_polygons.json',
                   [dict(label='sky', polygon=rect(0, 0, 19, 11))])
    # A frame with only labelIds: the label table maps it.
    write_png(gt / 'val/lindau/lindau_000000_000019_gtFine_labelIds.png', np.full((12, 20), 26))
    write_polygons(gt / 'test/berlin/berlin_000000_000019_gtFine_polygons.json', [])


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_two_polygons_exact_train_ids(cs, tmp_path: Path) -> None:
    json_file = write_polygons(tmp_path / 'a_gtFine_polygons.json', TWO_POLYGONS)
    train_ids = cs.polygons_to_train_ids(str(json_file))
    assert train_ids.dtype == np.uint8
    np.testing.assert_array_equal(train_ids, expected_two_polygons())
    # Chosen pixels: overlap (car over road), road only, car only, neither.
    chosen = (train_ids[5, 12], train_ids[10, 3], train_ids[3, 17], train_ids[0, 0])
    assert chosen == (13, 0, 13, 255)


def test_json_order_deleted_and_license_plate(cs, tmp_path: Path) -> None:
    """The later polygon wins; deleted objects and 'license plate' (id -1) are not drawn."""
    objects = [dict(label='car', polygon=rect(0, 0, 9, 9)),
               dict(label='road', polygon=rect(0, 0, 4, 4)),  # over the car
               dict(label='sky', polygon=rect(0, 0, 9, 9), deleted=1),
               dict(label='license plate', polygon=rect(5, 5, 9, 9)),
               dict(label='polegroup', polygon=rect(8, 0, 9, 1))]  # a label itself: 255
    train_ids = cs.polygons_to_train_ids(str(write_polygons(tmp_path / 'b.json', objects, 10, 10)))
    assert (train_ids[2, 2], train_ids[7, 7], train_ids[0, 9], train_ids[7, 2]) == (0, 13, 255, 13)


def test_label_table_matches_the_dataset(cs) -> None:
    """Train id t of the table is CityscapesDataset's class t, whose label id is label_ids[t]."""
    assert len(cs.LABELS) == 35 and sum(label.id >= 0 for label in cs.LABELS) == 34
    by_train_id = {label.train_id: label for label in cs.LABELS if 0 <= label.train_id < 255}
    assert sorted(by_train_id) == list(range(19))
    meta = CityscapesDataset.METAINFO
    assert tuple(by_train_id[t].name for t in range(19)) == meta['classes']
    assert tuple(by_train_id[t].id for t in range(19)) == meta['label_ids']


def test_label_ids_to_train_ids(cs) -> None:
    label_ids = np.arange(34, dtype=np.uint8).reshape(2, 17)
    train_ids = cs.label_ids_to_train_ids(label_ids, 'x.png').ravel()
    expected = {label.id: label.train_id for label in cs.LABELS if label.id >= 0}
    assert train_ids.tolist() == [expected[i] for i in range(34)]
    chosen = (train_ids[7], train_ids[26], train_ids[33], train_ids[0], train_ids[9])
    assert chosen == (0, 13, 18, 255, 255)


def test_tree_maps_and_split_lists(cs, tmp_path: Path, capsys) -> None:
    root = tmp_path / 'cityscapes'
    make_tree(root)
    assert cs.main([str(root)]) == 0
    out = capsys.readouterr().out
    assert '3 polygon files' in out and '1 labelIds maps' in out and '4/4' in out
    gt = root / 'gtFine'
    np.testing.assert_array_equal(
        read(gt / 'train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png'),
        expected_two_polygons())
    assert (read(gt / 'train/bochum/bochum_000000_000313_gtFine_labelTrainIds.png') == 10).all()
    assert (read(gt / 'val/lindau/lindau_000000_000019_gtFine_labelTrainIds.png') == 13).all()
    assert (read(gt / 'test/berlin/berlin_000000_000019_gtFine_labelTrainIds.png') == 255).all()
    assert (root / 'train.txt').read_text() == ('aachen/aachen_000000_000019\n'
                                                'bochum/bochum_000000_000313\n')
    assert (root / 'val.txt').read_text() == 'lindau/lindau_000000_000019\n'
    assert (root / 'test.txt').read_text() == 'berlin/berlin_000000_000019\n'

    # -o moves the lists only; the label maps stay next to their annotations, as in mmseg.
    assert cs.main([str(root), '-o', str(tmp_path / 'lists')]) == 0
    lists = sorted(p.name for p in (tmp_path / 'lists').iterdir())
    assert lists == ['test.txt', 'train.txt', 'val.txt']


def test_nproc_2_command_line(tmp_path: Path) -> None:
    root = tmp_path / 'cityscapes'
    make_tree(root)
    done = run_tool(TOOL, str(root), '--nproc', '2', timeout=120)
    assert done.returncode == 0, done.stderr
    assert '4/4' in done.stdout and 'Wrote 4 *_labelTrainIds.png maps' in done.stdout
    np.testing.assert_array_equal(
        read(root / 'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png'),
        expected_two_polygons())
    assert (root / 'train.txt').read_text().count('\n') == 2


def test_uses_cityscapesscripts_when_installed(cs, tmp_path: Path, monkeypatch) -> None:
    """With the package importable, each polygon file goes through its json2labelImg."""
    calls = []

    def json2labelImg(in_json: str, out_img: str, encoding: str) -> None:  # noqa: N802
        calls.append((in_json, out_img, encoding))
        Image.fromarray(np.zeros((12, 20), np.uint8)).save(out_img)

    modules = {name: types.ModuleType(name) for name in (
        'cityscapesscripts', 'cityscapesscripts.preparation',
        'cityscapesscripts.preparation.json2labelImg')}
    modules['cityscapesscripts.preparation.json2labelImg'].json2labelImg = json2labelImg
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    json_file = write_polygons(tmp_path / 'gtFine/train/a/a_1_2_gtFine_polygons.json',
                               TWO_POLYGONS)
    assert cs.main([str(tmp_path)]) == 0
    out_file = str(json_file).replace('_polygons.json', '_labelTrainIds.png')
    assert calls == [(str(json_file), out_file, 'trainIds')]


def test_same_as_cityscapesscripts(cs, tmp_path: Path) -> None:
    """segdet's rasteriser gives json2labelImg's pixels (runs where cityscapesscripts is)."""
    json2labelImg = pytest.importorskip(
        'cityscapesscripts.preparation.json2labelImg').json2labelImg
    rng = np.random.default_rng(0)
    names = [label.name for label in cs.LABELS] + ['cargroup', 'persongroup', 'polegroup']
    for i in range(20):
        objects = [dict(label=str(rng.choice(names)),
                        polygon=rng.integers(-3, 33, size=(int(rng.integers(2, 8)), 2)).tolist())
                   for _ in range(int(rng.integers(0, 8)))]
        json_file = write_polygons(tmp_path / f'{i}_gtFine_polygons.json', objects, 30, 20)
        json2labelImg(str(json_file), str(tmp_path / 'ref.png'), 'trainIds')
        np.testing.assert_array_equal(cs.polygons_to_train_ids(str(json_file)),
                                      read(tmp_path / 'ref.png'))


def test_bad_inputs_name_the_file(cs, tmp_path: Path, capsys) -> None:
    assert cs.main([str(tmp_path / 'nowhere')]) == 1
    assert f'{tmp_path / "nowhere" / "gtFine"}: no such folder' in capsys.readouterr().err
    (tmp_path / 'empty' / 'gtFine').mkdir(parents=True)
    assert cs.main([str(tmp_path / 'empty')]) == 1
    assert 'no *_polygons.json or *_labelIds.png file found' in capsys.readouterr().err

    no_objects = tmp_path / 'c_gtFine_polygons.json'
    no_objects.write_text(json.dumps(dict(imgWidth=4, imgHeight=4)))
    with pytest.raises(KeyError) as raised:
        cs.convert_frame(str(no_objects))
    assert raised.value.args[0].startswith(f"{no_objects}: no 'objects' key")
    unknown = write_polygons(tmp_path / 'd_gtFine_polygons.json',
                             [dict(label='road', polygon=rect(0, 0, 1, 1)),
                              dict(label='carr', polygon=rect(0, 0, 1, 1))])
    with pytest.raises(KeyError) as raised:
        cs.convert_frame(str(unknown))
    message = raised.value.args[0]
    assert message.startswith(f"{unknown}: object 1: unknown Cityscapes label 'carr'")
    assert "closest: 'car'" in message
    assert not (tmp_path / 'd_gtFine_labelTrainIds.png').exists()
    bad_polygon = write_polygons(tmp_path / 'e_gtFine_polygons.json',
                                 [dict(label='road', polygon=[[0, 0]])])
    with pytest.raises(ValueError, match=f"{bad_polygon}: object 0 .*at least 2"):
        cs.convert_frame(str(bad_polygon))
    not_json = tmp_path / 'f_gtFine_polygons.json'
    not_json.write_text('{"imgWidth": 4,')
    with pytest.raises(ValueError, match=f'{not_json}: not a JSON file'):
        cs.convert_frame(str(not_json))
    label_ids = write_png(tmp_path / 'g_gtFine_labelIds.png', np.array([[7, 40], [26, 34]]))
    with pytest.raises(ValueError, match=rf'{label_ids}: values \[34, 40\] are no Cityscapes'):
        cs.convert_frame(str(label_ids))

    # The command line prints the message (no traceback), also from a worker process.
    tree = tmp_path / 'tree'
    make_tree(tree)
    write_polygons(tree / 'gtFine/val/x/x_1_2_gtFine_polygons.json',
                   [dict(label='unknown thing', polygon=rect(0, 0, 1, 1))])
    done = run_tool(TOOL, str(tree), '--nproc', '2', timeout=120)
    assert done.returncode == 1
    assert "x_1_2_gtFine_polygons.json: object 0: unknown Cityscapes label 'unknown thing'" in \
        done.stderr and 'Traceback' not in done.stderr
