"""Every expensive choice, decided before any model is fitted from the config and the data's shape, never from the
clock or the machine's load: plan.py (the plan, its steps and estimates, the profile), costs.py (what a model costs
to fit and predict on the reference machine), threads.py (threads from the cores this process may use) and
deadline.py (budget.max_seconds, the one wall-clock safety net)."""
