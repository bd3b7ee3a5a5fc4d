# DIBE_Dis (Eq. 16), the loss of the alpha search of Table 3: lambda 0.75,
# gamma 2, alpha 0.3 to start from; alpha weights missed targets (FN). A
# config sets it on its heads from `_base_.loss`.
loss = dict(type='DIBEDisLoss', alpha=0.3, lam=0.75, gamma=2.0)
