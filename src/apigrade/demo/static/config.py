# Demo configuration (should never be in /static)
SECRET_KEY = "dev"
SQLALCHEMY_DATABASE_URI = "postgresql://shop:Sup3rS3cret!@db.internal/shop"
DEBUG = True
