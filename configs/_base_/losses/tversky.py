# Tversky (Eq. 6-7), the loss of the alpha search of Table 3: alpha 0.3 to
# start from; alpha weights missed targets (FN), beta false alarms (FP). A
# config sets it on its heads from `_base_.loss`.
loss = dict(type='BinaryTverskyLoss', alpha=0.3, beta=0.7)
