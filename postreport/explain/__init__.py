"""Explanations, computed (never drawn): a model's anatomy, attributions per row (TreeSHAP, linear contributions,
sampling Shapley values), permutation importance, partial dependence and input gradients (attributions.py), and
gradient-free saliency for image models with its checks (image_saliency.py)."""
