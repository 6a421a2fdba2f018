import glob, statistics as st, sys
ev={}
for f in sorted(glob.glob('/tmp/trace-[0-9]*.txt')):
    for line in open(f):
        k,i,t=map(int,line.split())
        ev.setdefault(k,[]).append(t)
for k in ev: ev[k].sort()
M=min(len(ev[5]), len(ev[0]))-5
def last(k, per=1):
    v=ev[k]; return v[len(v)-per*M:]
post=last(0); wr=last(1); h=last(2,2); d=last(3,2); fin=last(4); ret=last(5); q=last(8,2); w=last(9,2)
keys="written tq1 h1 tq2 tw1 d1 h2 tw2 d2 fin ret".split()
rows=[]
for i in range(M-1):
    p=post[i]
    r=dict(written=wr[i]-p, tq1=q[2*i]-p, tq2=q[2*i+1]-p, tw1=w[2*i]-p, h1=h[2*i]-p, d1=d[2*i]-p, tw2=w[2*i+1]-p, h2=h[2*i+1]-p, d2=d[2*i+1]-p, fin=fin[i]-p, ret=ret[i]-p, nxt=post[i+1]-p)
    rows.append(r)
tot=[r['nxt'] for r in rows]
print("transfers", len(rows), "mean cycle %.1f us, median %.1f" % (st.mean(tot)/1e3, st.median(tot)/1e3))
import collections
b=collections.Counter(int(x/50e3)*50 for x in tot)
print(sorted(b.items()))
slow=[r for r in rows if r['nxt']>300e3]
fast=[r for r in rows if r['nxt']<=200e3]
print("slow share %.2f, fast share %.2f" % (len(slow)/len(rows), len(fast)/len(rows)))
for name,grp in (("fast",fast),("slow",slow)):
    print(name, " ".join(f"{k}={st.median([r[k] for r in grp])/1e3:.0f}" for k in keys+['nxt']))
