# Customer subsample of the handbook month used in bench/RESULTS.md "Choosing the defaults":
# every transaction of the customers with an even CUSTOMER_ID (run from the repository root).
import pandas as pd
df = pd.read_csv('/work/shared/datasets/handbook-2018-04.csv.gz')
c = df.CUSTOMER_ID.unique()
print(len(c), len(df), df.TX_FRAUD.sum())
keep = set(x for x in c if x % 2 == 0)
s = df[df.CUSTOMER_ID.isin(keep)]
print(len(keep), len(s), s.TX_FRAUD.sum())
s.to_csv('data/defaults-study/handbook-half-customers.csv.gz', index=False, compression='gzip')
