public enum AnnalsTesting {}
