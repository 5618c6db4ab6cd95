"""Count the words of a text file: one CSV row per word, most frequent first."""
import argparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

parser = argparse.ArgumentParser()
parser.add_argument("--text", required=True)
parser.add_argument("--counts", required=True)
args = parser.parse_args()

spark = SparkSession.builder.appName("wordcount").getOrCreate()
words = (spark.read.text(args.text)
         .select(F.explode(F.split(F.lower(F.col("value")), r"[^a-z']+")).alias("word"))
         .where(F.col("word") != ""))
counts = words.groupBy("word").count().orderBy(F.desc("count"), "word")
counts.coalesce(1).write.mode("overwrite").csv(args.counts, header=True)
for row in counts.limit(5).collect():
    print(f"{row['word']}: {row['count']}")
spark.stop()
