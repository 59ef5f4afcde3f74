"""segdet.engine.benchmark.report: result tables."""
from segdet.engine.benchmark import format_table, table_rows


def test_table_rows_formats_and_marks_missing() -> None:
    columns = [('name', 'name', str), ('s/im', 's', '.2f'),
               ('ok', 'ok', lambda v: 'PASS' if v else 'FAIL')]
    rows = table_rows([dict(name='a', s=0.125, ok=True), dict(name='b', ok=None)], columns)
    assert rows == [['name', 's/im', 'ok'], ['a', '0.12', 'PASS'], ['b', '-', '-']]
    text = format_table([dict(name='a', s=1.0, ok=False)], columns, title=' t ')
    assert '| a    | 1.00 | FAIL |' in text


def test_model_task_columns_and_headline() -> None:
    from segdet.engine.benchmark import format_shapes, headline, model_task_columns
    headers = [h for h, _, _ in model_task_columns('inference', repeat_times=2)]
    assert headers[:6] == ['task', 's/im', 'std', 'network', '+ post', '= sum']
    assert 'input' in headers
    train = [h for h, _, _ in model_task_columns('train', repeat_times=1)]
    assert train[:2] == ['task', 's/iter'] and 'std' not in train and 'network' not in train
    assert headline(dict(task='train', s_per_iter=2.0, s_per_iter_std=0.5)) == dict(
        value=2.0, std=0.5)
    assert headline(dict(task='inference', s_per_image=0.25, s_per_image_std=0.0)) == dict(
        value=0.25, std=0.0)
    assert format_shapes([[512, 1024], [64, 64]]) == '512x1024 64x64'
    columns = model_task_columns('train', 1)
    record = dict(task='train', s_per_iter=1.0, s_per_iter_std=0.0, input_shapes=[[32, 48]])
    text = format_table([dict(record, **headline(record))], columns)
    assert '| 32x48 |' in text and '| 1.0000 |' in text
