"""LLM Compiler: a planner streams a DAG of tool tasks, each task starts the moment its own
dependencies finish, and a joiner answers or replans."""
