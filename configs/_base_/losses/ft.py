# Focal Tversky (FT, Eq. 8) with the paper's shared hyper-parameters
# (Section 4.3.2): gamma_FT 0.75; alpha weights missed targets (FN), beta
# false alarms (FP). A config sets it on its heads from `_base_.loss`.
loss = dict(type='FocalTverskyLoss', alpha=0.3, beta=0.7, gamma=0.75)
