"""Predict one image with a segmentation config + checkpoint and write the overlay:

    python demo/image_demo.py IMG CONFIG [CHECKPOINT] [--out-file out.png] [--device cpu]
        [--opacity 0.5]
"""
import argparse
import os
import sys

sys.path.insert(0, os.getcwd())  # configs' custom_imports resolve from the working directory

from segdet.apis import inference_model, init_model, show_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description='segdet image demo')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file (default: random weights)')
    parser.add_argument('--out-file', default='result.png', help='where to write the overlay')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--opacity', type=float, default=0.5, help='label colour weight, 0-1')
    args = parser.parse_args()
    model = init_model(args.config, args.checkpoint, device=args.device)
    result = inference_model(model, args.img)
    show_result(model, args.img, result, out_file=args.out_file, opacity=args.opacity)
    classes = model.dataset_meta.get('classes') or []
    present = sorted(set(result.pred_sem_seg.data.unique().tolist()))
    names = [classes[i] if i < len(classes) else str(i) for i in present]
    print(f'wrote {args.out_file}; classes predicted: {", ".join(names)}')


if __name__ == '__main__':
    main()
