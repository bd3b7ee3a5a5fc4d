# DIBE (Eq. 19) with the paper's shared hyper-parameters (Section 4.3.2):
# theta 0.5, lambda 0.75, gamma 2, beta = 1 - alpha; alpha weights missed
# targets (FN), beta false alarms (FP). A config sets it on its heads from
# `_base_.loss`.
loss = dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)
