"""The PyTorch side of kiln's GPU bench (run by run.sh in the GPU bundle, next to kiln-bench).

The zoo models' architectures in PyTorch: ResNet-50 and MobileNetV2 from torchvision, and the zoo's
small BERT encoder (4 layers, hidden 256, 4 heads, FFN 1024, sequence 128, vocabulary 1000; kiln's
compiler/zoo/bert.ts) written here. Weights are random (latency does not depend on them). Each runs in
eager mode and under torch.compile (default mode), in f32, tf32 and f16, at batch 1 and 8, on CUDA;
the median and minimum of ROUNDS timed runs after warm-up, each synchronised. Writes JSON to argv[1]
(default results/torch.json); without torch or CUDA it writes {"skipped": reason} and exits 0.
"""
import json
import os
import sys
import time

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join("results", "torch.json")
ROUNDS = int(os.environ.get("KILN_GPU_ROUNDS", "20"))
os.makedirs(os.path.dirname(OUT) or ".", exist_ok=True)


def write(obj):
    with open(OUT, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


try:
    import torch
    import torch.nn as nn
except Exception as e:  # no torch: nothing to compare against
    write({"skipped": f"torch is not installed: {e}"})
    print(f"torch bench: skipped: torch is not installed: {e}")
    sys.exit(0)
if not torch.cuda.is_available():
    write({"skipped": "torch sees no CUDA device"})
    print("torch bench: skipped: torch sees no CUDA device")
    sys.exit(0)


class Layer(nn.Module):
    def __init__(self, h=256, heads=4, ffn=1024):
        super().__init__()
        self.heads, self.d = heads, h // heads
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        self.up, self.down = nn.Linear(h, ffn), nn.Linear(ffn, h)

    def forward(self, x, bias):
        b, s, h = x.shape
        split = lambda t: t.view(b, s, self.heads, self.d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        a = torch.softmax(q @ k.transpose(-1, -2) / self.d ** 0.5 + bias, dim=-1) @ v
        x = self.ln1(x + self.o(a.transpose(1, 2).reshape(b, s, h)))
        return self.ln2(x + self.down(nn.functional.gelu(self.up(x))))


class Bert(nn.Module):
    """The zoo's BERT encoder (compiler/zoo/bert.ts)."""

    def __init__(self, layers=4, h=256, vocab=1000, seq=128):
        super().__init__()
        self.word, self.pos, self.type = nn.Embedding(vocab, h), nn.Embedding(512, h), nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h) for _ in range(layers))
        self.register_buffer("positions", torch.arange(seq))

    def forward(self, ids, mask):
        x = self.ln(self.word(ids) + self.pos(self.positions) + self.type(torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x


def model_and_inputs(name, batch, dtype):
    dev = "cuda"
    if name == "bert":
        m = Bert()
        ids = torch.randint(0, 1000, (batch, 128), device=dev)
        mask = torch.ones(batch, 128, dtype=torch.long, device=dev)
        return m.to(dev, dtype).eval(), (ids, mask)
    import torchvision  # resnet50 / mobilenetv2

    m = torchvision.models.resnet50() if name == "resnet50" else torchvision.models.mobilenet_v2()
    return m.to(dev, dtype).eval(), (torch.randn(batch, 3, 224, 224, device=dev, dtype=dtype),)


def timed(fn, args):
    with torch.inference_mode():
        for _ in range(5):
            fn(*args)
        torch.cuda.synchronize()
        times = []
        for _ in range(ROUNDS):
            t = time.perf_counter()
            fn(*args)
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": times[len(times) // 2], "min_ms": times[0]}


rows = []
models = os.environ.get("KILN_GPU_MODELS", "resnet50,mobilenetv2,bert").split(",")
for name in models:
    for batch in (1, 8):
        for precision in ("f32", "tf32", "f16"):
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            torch.backends.cudnn.allow_tf32 = precision == "tf32"
            dtype = torch.float16 if precision == "f16" else torch.float32
            for mode in ("eager", "compile"):
                row = {"model": name, "batch": batch, "precision": precision, "mode": mode}
                try:
                    m, args = model_and_inputs(name, batch, dtype)
                    fn = torch.compile(m) if mode == "compile" else m
                    row.update(timed(fn, args))
                except Exception as e:  # one case failing does not stop the bench
                    row["error_message"] = str(e).splitlines()[0] if str(e) else type(e).__name__
                print(json.dumps(row), flush=True)
                rows.append(row)
write({"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "rounds": ROUNDS, "rows": rows})
