"""Feature engineering with Spark: pairwise products of the strongest features, squares, then every feature
standardised (mean 0, standard deviation 1). Writes one CSV file with a header, the target kept as it is."""
import argparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

parser = argparse.ArgumentParser()
parser.add_argument("--raw", required=True)
parser.add_argument("--features", required=True)
args = parser.parse_args()

spark = SparkSession.builder.appName("diabetes-features").getOrCreate()
data = spark.read.csv(args.raw, header=True, inferSchema=True)
data = (data.withColumn("bmi_x_bp", F.col("bmi") * F.col("bp"))
            .withColumn("bmi_x_s5", F.col("bmi") * F.col("s5"))
            .withColumn("bmi_sq", F.col("bmi") ** 2)
            .withColumn("s5_sq", F.col("s5") ** 2))
columns = [c for c in data.columns if c != "target"]
stats = data.agg(*[F.mean(c).alias(f"m_{c}") for c in columns], *[F.stddev(c).alias(f"s_{c}") for c in columns]).first()
scaled = data.select(*[((F.col(c) - stats[f"m_{c}"]) / stats[f"s_{c}"]).alias(c) for c in columns], "target")
scaled.coalesce(1).write.mode("overwrite").csv(args.features, header=True)
print(f"{scaled.count()} rows, {len(columns)} features: {', '.join(columns)}")
spark.stop()
