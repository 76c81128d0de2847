"""The CDK app of ocrflow: constructs per capability, a stack that only composes them."""
