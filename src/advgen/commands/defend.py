"""``advgen defend``: train a defended classifier (PGD / FGSM adversarial training, defensive distillation) —
the MNIST CNN, or your own architecture on your own data — or load the zoo's, then measure it under FGSM,
PGD with restarts, CW-L2 and the gradient-masking report, all at the ``--eps`` it was trained for.

    advgen defend --method pgd --epochs 15
    advgen defend --method pgd --model my_net.py:build --data images/ --eps 0.03 --alpha 0.01 --out runs/robust
"""
from __future__ import annotations

from ._common import DATA_HELP, add_device, add_scale, add_seed, architecture, relaunch

METHODS = ("pgd", "fgsm", "distill")
ZOO = {"pgd": "mnist-cnn-pgd", "fgsm": "mnist-cnn-fgsm", "distill": "mnist-cnn-distilled"}


def register(sub) -> None:
    p = sub.add_parser("defend", help="train a defended classifier (pgd, fgsm, distill) and measure its robustness")
    p.add_argument("--method", choices=METHODS, required=True,
                   help="pgd: Madry min-max; fgsm: Goodfellow's mixed objective; distill: defensive distillation")
    p.add_argument("--zoo", action="store_true", help="use the zoo entry (mnist-cnn-pgd/-fgsm/-distilled; cached)")
    p.add_argument("--model", default="mnist_cnn",
                   help="the architecture trained: mnist_cnn (default), mnist_cnn_b, mnist_mlp or your FILE.py:FUNCTION "
                        "/ package.module:FUNCTION returning an untrained nn.Module")
    p.add_argument("--weights", help="safetensors weights to start your --model from (loaded strictly)")
    p.add_argument("--data", default="mnist", help=DATA_HELP.replace("the zoo model's own dataset", "mnist"))
    p.add_argument("--eps", type=float, default=0.3,
                   help="L∞ radius, in training and in the evaluation (FGSM at eps/3 and eps, PGD-40 at eps with "
                        "step eps/30; default 0.3)")
    p.add_argument("--alpha", type=float, default=0.15, help="PGD step during training (default 0.15)")
    p.add_argument("--steps", type=int, default=5, help="PGD steps during training (default 5; Madry: 40)")
    p.add_argument("--mix", type=float, help="weight of the clean loss (default pgd 0, fgsm 0.5)")
    p.add_argument("--warmup", type=float, default=None, help="epochs of linear eps warm-up (default pgd 3, fgsm 0)")
    p.add_argument("--temperature", type=float, default=100.0, help="distillation temperature T (default 100)")
    p.add_argument("--epochs", type=int, help="training epochs (default pgd 15, fgsm and distill 12)")
    p.add_argument("--batch-size", type=int, default=64, help="training batch size (default 64)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    p.add_argument("--shift", type=int, default=2, help="random-shift augmentation in pixels (default 2)")
    p.add_argument("--checkpoint-dir", help="adversarial training: checkpoint every epoch here and resume from it")
    p.add_argument("--checkpoint-every", type=int,
                   help="with --checkpoint-dir: also checkpoint every N batches (default: once per epoch)")
    p.add_argument("--n", type=int, default=1000, help="test images to evaluate (default 1000; 0: skip)")
    p.add_argument("--restarts", type=int, default=5, help="PGD-40 random restarts in the evaluation (default 5)")
    p.add_argument("--cw-n", type=int, default=200, help="images for CW-L2 (default 200; 0: skip)")
    p.add_argument("--masking-n", type=int, default=200, help="images for the masking report (default 200; 0: skip)")
    p.add_argument("--out", help="folder for model.safetensors (+ .json sidecar) and report.json")
    add_seed(p)
    add_device(p)
    add_scale(p)
    p.set_defaults(func=defend)


def _round(v: float) -> float:
    """``v`` to 6 significant digits: 0.3 / 3 is 0.1 in the report, not 0.09999999999999999."""
    return float(f"{v:.6g}")


def defend(args) -> int:
    import json
    import time
    from pathlib import Path

    import torch

    from .. import _checks, data, defenses, distributed, io, models, nets, zoo

    code = relaunch(args)
    if code is not None:
        return code
    for v, name in ((args.n, "--n"), (args.cw_n, "--cw-n"), (args.masking_n, "--masking-n")):
        if v < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    _checks.positive_int(args.restarts, "--restarts")
    # every training flag is checked here, before the data loads or anything trains
    for v, name in ((args.epochs, "--epochs"), (args.batch_size, "--batch-size"), (args.steps, "--steps"),
                    (args.checkpoint_every, "--checkpoint-every")):
        if v is not None:
            _checks.positive_int(v, name)
    for v, name in ((args.eps, "--eps"), (args.alpha, "--alpha"), (args.lr, "--lr"), (args.shift, "--shift"),
                    (args.warmup, "--warmup"), (args.temperature, "--temperature")):
        if v is not None:
            _checks.nonneg_float(v, name)
    if args.lr == 0 or args.temperature == 0:
        raise ValueError(f"--lr and --temperature must be > 0, got {args.lr} and {args.temperature}")
    if args.mix is not None and not 0.0 <= args.mix <= 1.0:
        raise ValueError(f"--mix must be in [0, 1], got {args.mix}")
    if args.model not in nets.ARCHITECTURES and ":" not in args.model:
        raise ValueError(f"--model must be one of {', '.join(nets.ARCHITECTURES)} or FILE.py:FUNCTION; got {args.model!r}")
    if args.zoo and (args.model != "mnist_cnn" or args.weights):
        raise ValueError("--zoo loads the zoo's defended mnist_cnn; drop --zoo to train your --model")
    if args.checkpoint_every is not None and not args.checkpoint_dir:
        raise ValueError("--checkpoint-every needs --checkpoint-dir")
    if args.weights is not None and ":" not in args.model:
        raise ValueError("--weights is for your own --model FILE.py:FUNCTION")
    ds = data.load(args.data)
    start = time.perf_counter()
    if args.zoo:
        if args.data != "mnist":
            raise ValueError("--zoo models are trained on MNIST-5k; drop --data or --zoo")
        model = zoo.load(ZOO[args.method], device=args.device)
        config = {"zoo": ZOO[args.method], **zoo.info(ZOO[args.method])}
    else:
        epochs = args.epochs if args.epochs is not None else (15 if args.method == "pgd" else 12)
        common = dict(epochs=epochs, batch_size=args.batch_size, lr=args.lr, shift=args.shift, seed=args.seed)

        def fresh(seed):
            torch.manual_seed(seed)
            net = architecture(args.model, ds, "--model", args.device)
            if args.weights is not None:
                models.load_state(net, args.weights)
            # your model trains through its logits (a tuple's first element, one logit as (0, z): BCE)
            return net if args.model in nets.ARCHITECTURES else models.classifier(net)

        model = fresh(args.seed)
        if args.method == "distill":
            if args.checkpoint_dir:
                raise ValueError("--checkpoint-dir applies to pgd and fgsm training, not distill")
            teacher = fresh(args.seed + 1)
            defenses.defensive_distillation(ds, temperature=args.temperature, teacher=teacher, student=model,
                                            amp=args.amp, **common)
            config = dict(common, method="distill", temperature=args.temperature)
        else:
            mix = args.mix if args.mix is not None else (0.0 if args.method == "pgd" else 0.5)
            warmup = args.warmup if args.warmup is not None else (3.0 if args.method == "pgd" else 0.0)
            opts = dict(attack=args.method, eps=args.eps, alpha=args.alpha, steps=args.steps, mix=mix, warmup=warmup)
            defenses.adversarial_training(model, ds, **opts, **common, checkpoint_dir=args.checkpoint_dir,
                                          checkpoint_every=args.checkpoint_every, amp=args.amp)
            config = dict(common, method="adversarial", **opts)
    train_seconds = round(time.perf_counter() - start, 1)
    row = {}
    if not distributed.is_main():  # under torchrun: rank 0 evaluates and writes
        distributed.cleanup()
        return 0
    if args.n:
        n = min(args.n, len(ds.x_test))
        x, y = ds.test_spread(n)
        row = defenses.evaluate_defense(model, x, y, fgsm_eps=sorted({_round(args.eps / 3), args.eps}),
                                        pgd_eps=args.eps, pgd_alpha=_round(args.eps / 30), restarts=args.restarts,
                                        n_cw=min(args.cw_n, n), cw=dict(steps=100, lr=0.1, binary_search_steps=5),
                                        n_masking=min(args.masking_n, n), seed=args.seed)
        print(f"{args.method}-defended {args.model} on {n} test images of {args.data} at eps {args.eps:g} "
              f"(trained/loaded in {train_seconds} s)")
        for k, v in row.items():
            print(f"  {k:24s} {v:.4f}" if isinstance(v, float) else f"  {k:24s} {v}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        net = model.model if isinstance(model, models.Classifier) else model
        io.save_weights(out / "model.safetensors", net.state_dict(),
                        {"architecture": args.model, "config": config, "train_seconds": train_seconds})
        io.atomic_write(out / "report.json", (json.dumps({"config": config, "train_seconds": train_seconds,
                                                          "metrics": row}, indent=2, default=str) + "\n").encode())
        print(f"wrote {out / 'model.safetensors'} and {out / 'report.json'}")
    return 0
