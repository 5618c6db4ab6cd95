from setuptools import find_packages, setup

setup(
    name="azureml_v2",
    version="0.3.0",
    description="Azure ML 2.0 jobs, sweeps and assets from YAML or Python, on a local workspace or Azure ML",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["azureml_v2", "azureml_v2.*"]),
    # py.typed: the public names carry type hints (PEP 561); the studio's templates and built static files
    package_data={"azureml_v2": ["py.typed"],
                  "azureml_v2.local.api.studio": ["templates/*.html", "static/*", "static/vendor/*"]},
    zip_safe=False,
    install_requires=[
        "PyYAML>=6.0",
        "marshmallow>=4.0,<5",
        "isodate>=0.6.1",
        "azure-core>=1.30",
        "azure-mgmt-core>=1.4",
        "waitress>=3.0",
        "pathspec>=1.0",
        "uv>=0.4",  # builds job environments; pip is the fallback
        # schedules: cron steps, recurrences, Azure ML's Windows time zone names
        "croniter>=2.0", "python-dateutil>=2.8", "tzlocal>=5.0",
        "Jinja2>=3.1",  # the studio's pages
        "PyJWT>=2.8",  # tokens a served workspace signs for clients that read their claims
    ],
    entry_points={"console_scripts": ["azml=azureml_v2.cli.main:main"]},
    extras_require={
        # an Azure ML workspace in the cloud: sign-in and blob uploads
        "azure": ["azure-identity>=1.15", "azure-storage-blob>=12.19", "tqdm>=4.66"],
        # local sweeps: Optuna's samplers
        "sweep": ["optuna>=4.0", "scipy>=1.10"],
        # PNG pictures of sweeps (HTML needs nothing)
        "plot": ["matplotlib>=3.8"],
        # online endpoints served locally by Azure ML's own scoring server
        "serve": ["azureml-inference-server-http>=1.4"],
        # `azml server start --tls`: a certificate made for this machine
        "tls": ["cryptography>=41"],
        # spark jobs run locally by Apache Spark's spark-submit (a Java runtime comes from the system)
        # (the pandas API on Spark does not take pandas 3 yet)
        "spark": ["pyspark[pandas-on-spark]>=3.5", "pandas>=2.2,<3"],
        # azureml_v2.aio: the async client (azure-core's async transport, and greenlets to reuse the sync groups)
        "aio": ["aiohttp>=3.9", "greenlet>=3.0"],
        "test": ["pytest>=8", "hypothesis>=6.100", "jsonschema>=4.20", "azure-storage-blob>=12.19",
                 "azure-identity>=1.15", "tqdm>=4.66", "vcrpy>=6", "optuna>=4.0", "scipy>=1.10", "schemathesis>=4.0",
                 # a real MLflow client against the local tracking API
                 # (pandas below 3: the pandas API on Spark does not take pandas 3 yet)
                 "mlflow-skinny>=3.0", "scikit-learn>=1.5", "pandas>=2.2,<3", "cryptography>=41",
                 # online endpoints: the scoring server their deployments run
                 "azureml-inference-server-http>=1.4",
                 # spark jobs: spark-submit and the pandas API on Spark the examples use
                 "pyspark[pandas-on-spark]>=3.5",
                 # the async client
                 "aiohttp>=3.9", "greenlet>=3.0",
                 # the studio in a real browser (Chromium from the distribution: .ci/run)
                 "playwright>=1.40"],
    },
)
