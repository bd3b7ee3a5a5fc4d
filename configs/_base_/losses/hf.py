# Hybrid Focal (HF, Eq. 12) with the paper's shared hyper-parameters
# (Section 4.3.2): theta 0.5, lambda 0.75, gamma_Focal 2, gamma_FT 0.75;
# alpha weights missed targets (FN), beta false alarms (FP). A config sets it
# on its heads from `_base_.loss`.
loss = dict(
    type='HybridFocalLoss',
    theta=0.5,
    lam=0.75,
    alpha=0.3,
    gamma_focal=2.0,
    gamma_ft=0.75)
