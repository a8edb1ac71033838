"""The static leaderboard site: boards as tables, the pages, their plots and the samples pages."""
