"""Smallest CUDA forward/backward through the JIT, for debugging on the GPU machine
(run under cuda-gdb for a native backtrace: no gdb there)."""
import faulthandler, os, sys, torch
faulthandler.enable()
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import hyplora
print("hyplora imported", flush=True)
torch.manual_seed(0)
dev = "cuda"
for variant, conv, dt in [("lora", "reference", torch.float32), ("hyplora", "reference", torch.bfloat16)]:
    base = torch.nn.Linear(64, 48, bias=True).to(dev)
    m = hyplora.HypLoRALinear(base, r=8, alpha=16, variant=variant, convention=conv).to(dev)
    with torch.no_grad():
        m.lora_B.normal_(0, 0.1)
    x = torch.randn(5, 64, device=dev, dtype=dt, requires_grad=True)
    print("forward", variant, dt, flush=True)
    with torch.autocast("cuda", dtype=dt, enabled=dt != torch.float32):
        y = m(x)
    torch.cuda.synchronize(); print("y", y.shape, y.float().norm().item(), flush=True)
    y.float().sum().backward(); torch.cuda.synchronize()
    print("grads", x.grad.float().norm().item(), m.lora_A.grad.norm().item(), flush=True)
