"""Adapters: the only modules that import third-party SDKs (chromadb, sentence_transformers, boto3, ...)."""
