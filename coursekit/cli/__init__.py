"""The course's command line and stage runners.

main        `python -m coursekit COMMAND`, which every Makefile target calls
stages/     one runner per stage (`make stage-N`) and the tour (`make tour`)
commands    `prefect ...` and `python SCRIPT ...` run inside this process, as a learner types them
automations, cloud   applying lesson 5's automation file; the Prefect Cloud path of stage 5
"""
