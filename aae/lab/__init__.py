"""Lab content: the recipes the shipped models were trained with, and the results they are measured by."""
