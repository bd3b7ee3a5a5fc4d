# DIBE_Reg (Eq. 18) with the paper's shared hyper-parameters (Section 4.3.2):
# gamma_DIBEReg 1.5; alpha weights missed targets (FN), beta false alarms
# (FP). A config sets it on its heads from `_base_.loss`.
loss = dict(type='DIBERegLoss', alpha=0.3, beta=0.7, gamma=1.5)
