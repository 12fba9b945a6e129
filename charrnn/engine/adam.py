"""Adam on the CPU without torch.optim's start-up cost.

Every torch.optim optimizer imports torch._dynamo when it is built (to mark its methods as not
to be compiled): about 1.2 s, a fifth of a short training run's fixed costs. This is torch's
single-tensor Adam (the one it runs on the CPU), step for step the same arithmetic, so a run
gives the same weights bit for bit (and, without torch.optim's wrappers, its step takes 1.8 ms
at 2 x 256 against 3.2 ms), and its state_dict has torch.optim.Adam's layout, so
checkpoints load into either. On CUDA the engine keeps torch's fused Adam.

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
                    "differentiable": False, "fused": None,
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
            beta1, beta2 = group["betas"]
            lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {
                        "step": torch.tensor(0.0),
                        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                        "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
                state["step"] += 1
                if decay != 0:
                    if group["decoupled_weight_decay"]:
                        p.mul_(1 - lr * decay)
                    else:
                        grad = grad.add(p, alpha=decay)
                state["exp_avg"].lerp_(grad, 1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step = state["step"].item()
                step_size = lr / (1 - beta1 ** step)
                denom = (state["exp_avg_sq"].sqrt() / (1 - beta2 ** step) ** 0.5).add_(eps)
                p.addcdiv_(state["exp_avg"], denom, value=-step_size)

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
            own.update({k: v for k, v in saved.items() if k != "params"})
            own["betas"] = tuple(own["betas"])
        params = self._params()
        self.state = {}
        for i, s in sd["state"].items():
            p = params[int(i)]
            self.state[p] = {"step": torch.as_tensor(s["step"], dtype=torch.float32).clone(),
                             "exp_avg": s["exp_avg"].to(p.device, p.dtype).clone(),
                             "exp_avg_sq": s["exp_avg_sq"].to(p.device, p.dtype).clone()}


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
