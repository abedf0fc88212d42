"""Daily trip KPIs for AWS Glue 5.0, written against plain PySpark (no awsglue)."""
