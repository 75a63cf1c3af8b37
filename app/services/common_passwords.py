"""Passwords of 8 or more characters that top the public breach-corpus frequency lists (the shorter ones are
already refused by the length rule). Compared case-insensitively. Shipped as data so no lookup leaves the host."""

from __future__ import annotations

_WORDS = """
password 12345678 123456789 1234567890 qwertyuiop 1qaz2wsx trustno1 sunshine iloveyou starwars computer
michelle 11111111 princess 987654321 football baseball password1 password12 password123 password1234 qwerty123
qwerty12 qwerty1234 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y zaq12wsx zaq1zaq1 abcd1234 12341234 87654321 88888888
00000000 12121212 11223344 123123123 123456789a a123456789 iloveyou1 superman baseball1 football1 jennifer
jordan23 liverpool welcome1 welcome123 letmein1 letmein123 passw0rd p@ssw0rd p@ssword pa55word admin123
admin1234 administrator changeme changeme1 qwertyui asdfghjk asdfghjkl zxcvbnm1 1234qwer q1w2e3r4 q1w2e3r4t5
qazwsxedc 1qazxsw2 147258369 741852963 123654789 999999999 666666666 55555555 22222222 33333333 44444444
66666666 77777777 99999999 chocolate butterfly whatever midnight princess1 sunshine1 michael1 charlie1
corvette mercedes samantha danielle jessica1 elizabeth alexander christopher passport internet pokemon1
minecraft blink182 babygirl1 lovely123 iloveyou2 1234abcd abc12345 abcdefgh abcdefg1 test1234 testtest
guest123 root1234 secret123 security football12 baseball12 starwars1 computer1 michelle1 11111111a
1111111111 0987654321 1234512345 123qweasd qweasdzxc qweasd123 asdf1234 asdfasdf zxcvbnm123 q1w2e3r4t5y6
1qaz2wsx3edc 147852369 963852741 135792468 1029384756 password! password01 password2 password7
password9 qwerty01 monkey123 dragon123 shadow123 master123 killer123 hello123 freedom1 whatever1
superman1 batman123 spiderman pokemon123 naruto123 rockyou1 iloveu123 princess12 sunflower
butterfly1 angel123 jesus123 blessed1 trustme1 letmein! welcome! welcome2 summer2023 summer2024
summer2025 winter2023 winter2024 winter2025 spring2024 autumn2024 january1 december1 september
november october1 football! baseball! soccer123 hockey123 basketball tennis123 golfer123 hunter123
jordan123 michael123 charlie123 thomas123 robert123 daniel123 matthew1 andrew123 joshua123 jessica123
ashley123 amanda123 nicole123 melissa1 stephanie heather1 samsung1 samsung123 iphone123 google123
facebook linkedin instagram twitter1 microsoft apple123 dropbox1 adobe123 photoshop unknown1
nopassword nothing1 secret12 private1 letmein2 zxcvbnma qwertyu1 asdfghj1 1qazxsw23edc 1q2w3e4r5
""".split()  # noqa: SIM905 - data: words as the source lists print them, not one quoted string each

COMMON_PASSWORDS: frozenset[str] = frozenset(word.lower() for word in _WORDS)


def is_common(password: str) -> bool:
    return password.lower() in COMMON_PASSWORDS
