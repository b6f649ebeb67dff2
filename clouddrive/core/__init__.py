"""The pure planning core: models, paths, the three-way planner, time and retention rules.

No boto3, no Textual, no disk: everything here is a function of its inputs."""
