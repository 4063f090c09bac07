"""``kraamwacht demo``: the whole system on one machine, scripted so that a newcomer sees it work.

:mod:`~kraamwacht.demo.cast` is the script (pure: who wears what and what happens when);
:mod:`~kraamwacht.demo.run` starts and stops the processes.
"""
