"""Adam on the CPU without torch.optim's start-up cost.

Every torch.optim optimizer imports torch._dynamo when it is built (to mark its methods as not
to be compiled): about 1.2 s, a fifth of a short training run's fixed costs. This calls the
kernel torch.optim.Adam(fused=True) runs on the CPU (one pass over each group's weights,
gradients and moments), so a run gives the same weights bit for bit as torch's fused Adam, and
its state_dict has torch.optim.Adam's layout, so checkpoints load into either. At 2 x 512 its
step takes about 2 ms against 9-10 ms for torch's single-tensor Adam (eight passes over 13 MB,
one per elementwise operation), which this replaced. On CUDA the engine keeps torch.optim's
fused Adam.

Weight decay is decoupled (AdamW's: the weights shrink by lr x decay each step, apart from the
gradient's moments) and only on the weight matrices, not the biases, as nanoGPT does.
"""
from __future__ import annotations

import torch


class Adam:
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False):
        """`params`: tensors, or groups as torch.optim takes them (dicts with "params" and
        any setting to override)."""
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                    "differentiable": False, "fused": True,
                    "decoupled_weight_decay": decoupled_weight_decay}
        self.param_groups = [{**defaults, **g, "params": list(g["params"])} for g in groups]
        self.state: dict = {}

    def _params(self) -> list:
        """Every group's parameters in order: torch.optim numbers them so in a state_dict."""
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                if not self.state.get(p):
                    self.state[p] = {
                        "step": torch.tensor(0.0),
                        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                        "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
            kernel = torch._fused_adamw_ if group["decoupled_weight_decay"] else torch._fused_adam_
            beta1, beta2 = group["betas"]
            for same in _by_dtype(params).values():  # the kernel takes one dtype at a time
                states = [self.state[p] for p in same]
                steps = [s["step"] for s in states]
                torch._foreach_add_(steps, 1)
                kernel(same, [p.grad for p in same], [s["exp_avg"] for s in states],
                       [s["exp_avg_sq"] for s in states], [], steps, lr=group["lr"],
                       beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                       eps=group["eps"], amsgrad=False, maximize=False)

    def state_dict(self) -> dict:
        """torch.optim's layout: parameters by index, the groups' settings."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()},
                "param_groups": groups}

    def load_state_dict(self, sd: dict) -> None:
        groups = sd["param_groups"]
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("the optimizer state is for another number of parameters")
        for own, saved in zip(self.param_groups, groups):
            own.update({k: v for k, v in saved.items() if k not in ("params", "fused", "foreach")})
            own["betas"] = tuple(own["betas"])
        params = self._params()
        self.state = {}
        for i, s in sd["state"].items():
            p = params[int(i)]
            self.state[p] = {"step": torch.as_tensor(s["step"], dtype=torch.float32).clone(),
                             "exp_avg": s["exp_avg"].to(p.device, p.dtype).clone(),
                             "exp_avg_sq": s["exp_avg_sq"].to(p.device, p.dtype).clone()}


def _by_dtype(params: list) -> dict:
    groups: dict = {}
    for p in params:
        groups.setdefault(p.dtype, []).append(p)
    return groups


def make_adam(params, lr: float, weight_decay: float, device: torch.device):
    """This Adam on the CPU, torch's fused one elsewhere; with weight decay, two groups: the
    weight matrices decayed (decoupled), the biases not."""
    params = list(params)
    if weight_decay:
        params = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    if device.type == "cpu":
        return Adam(params, lr=lr, decoupled_weight_decay=True)
    return torch.optim.Adam(params, lr=lr, decoupled_weight_decay=True,
                            fused=device.type == "cuda")
