"""The OCR job workflow's steps as plain functions: the Lambda handlers in functions/ call these, the
tests call them directly. Storage (S3), job records (DynamoDB) and credits are injected."""
