"""The planning agent: plan, approve, run in parallel, check, replan, report, reflect, deliver."""
