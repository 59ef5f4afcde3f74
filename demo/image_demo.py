"""Predict one image with a segmentation or detection config + checkpoint and write the overlay:

    python demo/image_demo.py IMG CONFIG [CHECKPOINT] [--out-file out.png] [--device cpu]
        [--opacity 0.5] [--score-thr 0.3] [--allow-partial-checkpoint]

CHECKPOINT is a file or a URL (downloaded once into the torch hub cache).

Segmentation results are painted with the data set's palette; detections scoring above
``--score-thr`` are drawn as boxes, class names, scores and (Mask R-CNN) masks.
"""
import argparse
import os
import sys

sys.path.insert(0, os.getcwd())  # configs' custom_imports resolve from the working directory

from segdet.apis import inference_model, init_model, show_result  # noqa: E402
from segdet.structures import DataSample  # noqa: E402


def summary(result: DataSample, classes: list[str], score_thr: float) -> str:
    """One line naming what the overlay shows: classes predicted, or detections kept."""
    def name(i: int) -> str:
        return classes[i] if i < len(classes) else str(i)

    if 'pred_instances' in result:
        pred = result.pred_instances
        kept = pred[pred.scores > score_thr]
        names = ', '.join(f'{name(int(label))} {float(score):.2f}'
                          for label, score in zip(kept.labels, kept.scores))
        return f'{len(kept)} detections above {score_thr}' + (f': {names}' if names else '')
    present = sorted(set(result.pred_sem_seg.data.unique().tolist()))
    return 'classes predicted: ' + ', '.join(name(i) for i in present)


def main() -> None:
    parser = argparse.ArgumentParser(description='segdet image demo')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file or URL (kept in the torch '
                        'hub cache; default: random weights)')
    parser.add_argument('--out-file', default='result.png', help='where to write the overlay')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5, help='label colour weight, 0-1')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection configs: draw instances scoring above this')
    parser.add_argument('--allow-partial-checkpoint', action='store_true',
                        help='predict even when more than 10%% of the model\'s tensors are '
                        'missing from the checkpoint or of another shape (default: an error)')
    args = parser.parse_args()
    model = init_model(args.config, args.checkpoint, device=args.device,
                       allow_partial=args.allow_partial_checkpoint)
    result = inference_model(model, args.img)
    show_result(model, args.img, result, out_file=args.out_file, opacity=args.opacity,
                score_thr=args.score_thr)
    classes = list(model.dataset_meta.get('classes') or [])
    print(f'wrote {args.out_file}; {summary(result, classes, args.score_thr)}')


if __name__ == '__main__':
    main()
