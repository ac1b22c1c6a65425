"""Where the stages that touch every row run, besides this process's pandas: `spark`
(engine: {name: spark}) runs them on Apache Spark, and hands the driver what is small."""
