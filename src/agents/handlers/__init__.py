"""Use cases over ports and a unit of work: register, package, serve, route, run the agent."""
