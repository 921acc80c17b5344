"""coursekit: the plumbing the lessons share, so the lesson folders hold only the lesson.

Paths and settings (`config`), background services the course starts and stops (`services`,
`server`, `facts_api`), console output (`console`) and the stage runners (`stages`).
"""
